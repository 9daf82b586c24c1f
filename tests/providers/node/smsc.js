'use strict';
// An SMSC built on node-smpp: an SMPP implementation Payamak did not write, so that a test that
// passes against it shows Payamak's client speaks SMPP, not merely its own dialect.
//
// node smsc.js [--port 0] [--system-id payamak] [--password payamak] [--receipt-delay SECONDS] [--quiet]
//
// Prints one JSON object a line on stdout: {"event":"listening","port":N} first, then for every
// complete message (parts joined by their UDH concatenation header, or whole in message_payload)
// {"event":"message","from","to","text","mode":"single"|"udh"|"payload","parts","message_ids","data_coding"}.
// Receipts go back as deliver_sm with esm_class 4, receipted_message_id, message_state and the
// text form with seconds in its dates; a destination ending in 0000001 is UNDELIV with a hex err.
const smpp = require('smpp');

const options = { port: 0, systemId: 'payamak', password: 'payamak', receiptDelay: 0, quiet: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const name = argv[i];
  if (name === '--quiet') options.quiet = true;
  else if (name === '--port') options.port = Number(argv[++i]);
  else if (name === '--system-id') options.systemId = argv[++i];
  else if (name === '--password') options.password = argv[++i];
  else if (name === '--receipt-delay') options.receiptDelay = Number(argv[++i]);
  else {
    process.stderr.write(`unknown option ${name}\n`);
    process.exit(2);
  }
}

const emit = (record) => process.stdout.write(JSON.stringify(record) + '\n');
let nextId = 1;
const partial = new Map();

function two(value) {
  return String(value).padStart(2, '0');
}

function receiptDate(date) {
  return two(date.getUTCFullYear() % 100) + two(date.getUTCMonth() + 1) + two(date.getUTCDate()) +
    two(date.getUTCHours()) + two(date.getUTCMinutes()) + two(date.getUTCSeconds());
}

function concatenation(udhList) {
  for (const element of udhList || []) {
    if (element[0] === 0x00 && element[1] === 3) return { ref: element[2], total: element[3], seq: element[4] };
    if (element[0] === 0x08 && element[1] === 4) {
      return { ref: element.readUInt16BE(2), total: element[4], seq: element[5] };
    }
  }
  return null;
}

function record(pdu, messageId) {
  if (options.quiet) return;
  const base = { event: 'message', from: pdu.source_addr, to: pdu.destination_addr, data_coding: pdu.data_coding };
  const payload = pdu.message_payload;
  const short = pdu.short_message || {};
  if (payload && payload.message !== undefined && !(short.message && short.message.length)) {
    emit({ ...base, text: payload.message, mode: 'payload', parts: 1, message_ids: [messageId] });
    return;
  }
  const concat = concatenation(short.udh);
  if (!concat || concat.total < 2) {
    emit({ ...base, text: short.message, mode: 'single', parts: 1, message_ids: [messageId] });
    return;
  }
  const key = `${pdu.source_addr}|${pdu.destination_addr}|${concat.ref}|${concat.total}`;
  const entry = partial.get(key) || { texts: {}, ids: {}, count: 0 };
  if (entry.texts[concat.seq] === undefined) entry.count += 1;
  entry.texts[concat.seq] = short.message;
  entry.ids[concat.seq] = messageId;
  partial.set(key, entry);
  if (entry.count < concat.total) return;
  partial.delete(key);
  let text = '';
  const ids = [];
  for (let seq = 1; seq <= concat.total; seq++) {
    text += entry.texts[seq];
    ids.push(entry.ids[seq]);
  }
  emit({ ...base, text, mode: 'udh', parts: concat.total, message_ids: ids });
}

function sendReceipt(session, pdu, messageId, submitted) {
  const failed = pdu.destination_addr.endsWith('0000001');
  const [stat, state, err] = failed ? ['UNDELIV', 5, '0x01F'] : ['DELIVRD', 2, '000'];
  const done = receiptDate(new Date());
  session.deliver_sm({
    source_addr: pdu.destination_addr,
    source_addr_ton: pdu.dest_addr_ton,
    source_addr_npi: pdu.dest_addr_npi,
    destination_addr: pdu.source_addr,
    esm_class: smpp.ESM_CLASS.MC_DELIVERY_RECEIPT,
    data_coding: 0,
    short_message: `id:${messageId} sub:001 dlvrd:${failed ? '000' : '001'} submit date:${submitted} ` +
      `done date:${done} stat:${stat} err:${err} text:`,
    receipted_message_id: messageId,
    message_state: state,
  });
}

const server = smpp.createServer((session) => {
  let bound = false;
  const bind = (pdu) => {
    if (pdu.system_id !== options.systemId || pdu.password !== options.password) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
      return;
    }
    bound = true;
    session.send(pdu.response({ system_id: 'node-smsc' }));
  };
  session.on('bind_transceiver', bind);
  session.on('bind_transmitter', bind);
  session.on('bind_receiver', bind);
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => {
    session.send(pdu.response());
    session.close();
  });
  session.on('submit_sm', (pdu) => {
    if (!bound) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
      return;
    }
    const messageId = nextId.toString(16).padStart(10, '0');
    nextId += 1;
    session.send(pdu.response({ message_id: messageId }));
    record(pdu, messageId);
    if (pdu.registered_delivery & 0x01) {
      const submitted = receiptDate(new Date());
      setTimeout(() => sendReceipt(session, pdu, messageId, submitted), options.receiptDelay * 1000);
    }
  });
  session.on('error', () => session.destroy());
});

server.listen(options.port, '127.0.0.1', () => emit({ event: 'listening', port: server.address().port }));
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
