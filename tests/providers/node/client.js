'use strict';
// An SMPP client built on node-smpp, pointed at Payamak's simulated SMSC to show that the SMSC
// speaks SMPP as an independent implementation understands it.
//
// node client.js --port N [--system-id payamak] [--password payamak]
//
// Binds as transceiver and prints JSON lines on stdout:
//   {"event":"bound"}  {"event":"bind_failed","status":N}
//   {"event":"submitted","ids":[...],"statuses":[...]} once every submit_sm is answered
//   {"event":"inbound","from","to","text","parts"} for each message from a phone (parts joined)
//   {"event":"receipts","receipts":[{"id","state","text"}]} once one receipt per submit arrived
//   {"event":"unbound"} after a clean unbind; then it exits 0.
// It waits for `--inbound N` inbound messages (default 1) before unbinding.
const smpp = require('smpp');

const options = { port: 2775, systemId: 'payamak', password: 'payamak', inbound: 1 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const name = argv[i];
  if (name === '--port') options.port = Number(argv[++i]);
  else if (name === '--system-id') options.systemId = argv[++i];
  else if (name === '--password') options.password = argv[++i];
  else if (name === '--inbound') options.inbound = Number(argv[++i]);
  else {
    process.stderr.write(`unknown option ${name}\n`);
    process.exit(2);
  }
}

const emit = (record) => process.stdout.write(JSON.stringify(record) + '\n');
const persian = 'سلام! این پیام از node-smpp به شبیه‌ساز پیامک فرستاده شده است و باید کامل و بی‌کم‌وکاست برسد. ';
const longPersian = persian.repeat(3);

function udhParts(text, reference) {
  const chunks = [];
  for (let start = 0; start < text.length; start += 67) chunks.push(text.slice(start, start + 67));
  return chunks.map((chunk, index) => ({
    udh: Buffer.from([5, 0, 3, reference, chunks.length, index + 1]),
    message: chunk,
  }));
}

const submissions = [
  { destination_addr: '989121234501', data_coding: 0, short_message: 'Hello from node-smpp: 100% {ok}' },
  { destination_addr: '989121234502', data_coding: 8, short_message: persian },
  ...udhParts(longPersian, 42).map((part) => ({
    destination_addr: '989121234503', data_coding: 8, esm_class: 0x40, short_message: part,
  })),
  { destination_addr: '989121234504', data_coding: 8, message_payload: longPersian },
];

const session = smpp.connect({ host: '127.0.0.1', port: options.port });
const receipts = [];
const inboundParts = new Map();
let inboundCount = 0;
let submitted = false;
let finished = false;

function maybeFinish() {
  if (finished || !submitted || receipts.length < submissions.length || inboundCount < options.inbound) return;
  finished = true;
  emit({ event: 'receipts', receipts });
  session.unbind({}, () => {
    emit({ event: 'unbound' });
    session.close();
    process.exit(0);
  });
}

session.on('deliver_sm', (pdu) => {
  session.send(pdu.response());
  if (pdu.esm_class & smpp.ESM_CLASS.MC_DELIVERY_RECEIPT) {
    receipts.push({ id: pdu.receipted_message_id, state: pdu.message_state, text: pdu.short_message.message });
  } else {
    const short = pdu.short_message;
    const element = (short.udh || []).find((item) => item[0] === 0 && item[1] === 3);
    if (!element) {
      inboundCount += 1;
      emit({ event: 'inbound', from: pdu.source_addr, to: pdu.destination_addr, text: short.message, parts: 1 });
    } else {
      const key = `${pdu.source_addr}|${element[2]}`;
      const entry = inboundParts.get(key) || {};
      entry[element[4]] = short.message;
      inboundParts.set(key, entry);
      if (Object.keys(entry).length === element[3]) {
        let text = '';
        for (let seq = 1; seq <= element[3]; seq++) text += entry[seq];
        inboundCount += 1;
        emit({ event: 'inbound', from: pdu.source_addr, to: pdu.destination_addr, text, parts: element[3] });
      }
    }
  }
  maybeFinish();
});

session.on('error', (error) => {
  emit({ event: 'error', message: String(error) });
  process.exit(1);
});

session.bind_transceiver({ system_id: options.systemId, password: options.password }, (pdu) => {
  if (pdu.command_status !== 0) {
    emit({ event: 'bind_failed', status: pdu.command_status });
    process.exit(1);
  }
  emit({ event: 'bound' });
  const ids = new Array(submissions.length);
  const statuses = new Array(submissions.length);
  let answered = 0;
  submissions.forEach((fields, index) => {
    session.submit_sm({ source_addr: '3000123', dest_addr_ton: 1, dest_addr_npi: 1, registered_delivery: 1, ...fields },
      (response) => {
        ids[index] = response.message_id;
        statuses[index] = response.command_status;
        answered += 1;
        if (answered === submissions.length) {
          submitted = true;
          emit({ event: 'submitted', ids, statuses });
          maybeFinish();
        }
      });
  });
});

setTimeout(() => {
  emit({ event: 'timeout', receipts: receipts.length, inbound: inboundCount });
  process.exit(1);
}, 20000).unref();
