// Payamak's pages work without this file; it adds what only a script can: sending a form once,
// live counts and rule checks while typing, and progress that moves without reloading.
"use strict";

// --- forms marked data-once send once: a double click or a second Enter does not submit twice.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
  if (form.dataset.sent) { event.preventDefault(); return; }
  const too = tooLargeFile(form);
  if (too) { event.preventDefault(); showFieldError(too.input, too.message); too.input.focus(); return; }
  form.dataset.sent = "1";
  // A disabled button's name and value would not be sent: carry them in a hidden field.
  const submitter = event.submitter;
  if (submitter && submitter.name) {
    const carried = document.createElement("input");
    carried.type = "hidden"; carried.name = submitter.name; carried.value = submitter.value;
    form.appendChild(carried);
  }
  form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
});
// Coming back to a page from the browser's history shows it as it was left: let it send again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  document.querySelectorAll("form[data-once]").forEach((form) => {
    delete form.dataset.sent;
    form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = false; });
  });
});

function tooLargeFile(form) {
  for (const input of form.querySelectorAll("input[type=file][data-max-bytes]")) {
    const max = Number(input.dataset.maxBytes);
    for (const file of input.files || []) {
      if (file.size > max) return { input, message: input.dataset.tooLarge };
    }
  }
  return null;
}

function showFieldError(input, message) {
  let error = input.parentElement.querySelector(".field-error.js");
  if (!error) {
    error = document.createElement("p");
    error.className = "field-error js";
    error.id = input.id + "-js-error";
    error.setAttribute("role", "alert");
    input.parentElement.appendChild(error);
  }
  error.textContent = message;
  input.setAttribute("aria-invalid", "true");
}

// --- small helpers
const FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹";
function digits(value, lang) {
  const text = String(value);
  return lang === "fa" ? text.replace(/[0-9]/g, (d) => FA_DIGITS[d]) : text;
}

async function getJSON(url, options) {
  const response = await fetch(url, Object.assign({ credentials: "same-origin", headers: { Accept: "application/json" } }, options || {}));
  // An expired login answers with the login page: go there and come back here afterwards.
  if (response.redirected && new URL(response.url).pathname === "/login") {
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
    throw new Error("login required");
  }
  if (response.status === 401) {
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
    throw new Error("login required");
  }
  const body = await response.json();
  return { ok: response.ok, status: response.status, body };
}

// --- select-all checkboxes
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.checkAll) return;
  document.querySelectorAll(`input[type=checkbox][name="${box.dataset.checkAll}"]`).forEach((c) => { c.checked = box.checked; });
});

// --- copy buttons (the new API key)
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = button.parentElement.querySelector("[data-copy-source]");
  if (source && navigator.clipboard) navigator.clipboard.writeText(source.textContent.trim());
});

// --- live sends: rows and sections marked data-live-send="ID" are refreshed every 2 seconds until
// their send is done. Sections marked data-refresh-regions also get their [data-region] parts
// (the recipients table, the cancel button) fetched again when the counts change.
function startLiveSends() {
  const watched = () => Array.from(document.querySelectorAll("[data-live-send]"));
  if (!watched().length) return;
  const detail = document.querySelector("[data-refresh-regions]") !== null;
  const tick = async () => {
    const elements = watched();
    if (!elements.length) return;
    if (document.hidden) { setTimeout(tick, 2000); return; }
    const ids = elements.map((e) => e.dataset.liveSend).join(",");
    let changed = false;
    let finished = false;
    try {
      const { body } = await getJSON("/sends/live?ids=" + encodeURIComponent(ids));
      for (const item of body.items) {
        for (const element of document.querySelectorAll(`[data-live-send="${item.id}"]`)) {
          for (const [part, html] of Object.entries(item.parts)) {
            const target = element.querySelector(`[data-part="${part}"]`);
            if (target && target.innerHTML !== html) { target.innerHTML = html; changed = true; }
          }
          if (item.done) { element.removeAttribute("data-live-send"); finished = true; }
        }
      }
      if (detail && (changed || finished)) await refreshRegions();
    } catch (error) {
      // A failed poll is tried again on the next tick.
    }
    if (watched().length) setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
}

async function refreshRegions() {
  const regions = document.querySelectorAll("[data-region]");
  if (!regions.length) return;
  const response = await fetch(window.location.href, { credentials: "same-origin" });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  regions.forEach((region) => {
    const fresh = page.querySelector(`[data-region="${region.dataset.region}"]`);
    if (fresh && fresh.innerHTML !== region.innerHTML) region.innerHTML = fresh.innerHTML;
  });
}

// --- progress of an import or a blacklist load, polled from the API until it ends.
function startJobPolls() {
  const importBox = document.querySelector("[data-poll-import]");
  if (importBox) pollJob(importBox, importBox.dataset.pollImport, "[data-import-bar]", (body) => {
    const rows = importBox.querySelector("[data-import-rows]");
    if (rows) rows.textContent = digits(body.rows_read, document.documentElement.lang);
    return body.status !== "running";
  });
  const loadBox = document.querySelector("[data-poll-load]");
  if (loadBox) pollJob(loadBox, loadBox.dataset.pollLoad, "[data-load-bar]", (body) => body.status !== "running");
}

function pollJob(box, url, barSelector, finished) {
  const bar = box.querySelector(barSelector);
  const tick = async () => {
    try {
      const { ok, body } = await getJSON(url);
      if (ok) {
        const percent = Math.round(100 * (body.progress || 0));
        if (bar) {
          bar.setAttribute("aria-valuenow", String(percent));
          bar.firstElementChild.style.width = percent + "%";
        }
        if (finished(body)) {
          // The report is drawn by the server: show it.
          const url = new URL(window.location.href);
          url.searchParams.delete("load");
          window.location.replace(url.toString());
          return;
        }
      }
    } catch (error) {
      // tried again below
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 500);
}

// --- the send page: parts counted as the network counts them, the rules checked as you type,
// violations highlighted in place, sender names inserted at the cursor, and a summary that
// knows when the form has changed since it was worked out.
const GSM_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION = "\f^{}\\[~]|€";
const GSM = new Set(Array.from(GSM_BASIC + GSM_EXTENSION));
const GSM_WIDE = new Set(Array.from(GSM_EXTENSION));

// The same arithmetic as payamak.sms.analyse: 160/153 septets for GSM-7, 70/67 UTF-16 units for
// UCS-2, and a two-unit character never split between parts.
function analyse(text) {
  const chars = Array.from(text);
  const gsm = chars.every((c) => GSM.has(c));
  const single = gsm ? 160 : 70;
  const perPart = gsm ? 153 : 67;
  const wide = [];
  let units = 0;
  for (const c of chars) {
    const size = gsm ? (GSM_WIDE.has(c) ? 2 : 1) : c.length; // c.length: 2 for a surrogate pair
    if (size === 2) wide.push(units);
    units += size;
  }
  if (units <= single) return { encoding: gsm ? "GSM-7" : "UCS-2", characters: units, segments: units ? 1 : 0, remaining: single - units };
  let start = 0;
  let segments = 1;
  while (units - start > perPart) {
    let end = start + perPart;
    if (wide.includes(end - 1)) end -= 1;
    start = end;
    segments += 1;
  }
  return { encoding: gsm ? "GSM-7" : "UCS-2", characters: units, segments, remaining: perPart - (units - start) };
}

// «لغو۱۱» is added to informational texts that lack it; count it as the server will.
const OPT_OUT = /لغو[\s:=_.\-]*[1۱١][1۱١]|[1۱١][1۱١][\s:=_.\-]*(?:(?:برای|جهت)[\s:=_.\-]*)?لغو/;

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// Violation offsets count code points (Python); JavaScript strings count UTF-16 units.
function toUnits(text, offset) {
  let units = 0;
  let points = 0;
  for (const c of text) {
    if (points >= offset) break;
    units += c.length;
    points += 1;
  }
  return units;
}

function startComposer(root) {
  const textarea = root.querySelector("textarea");
  const highlights = root.querySelector(".highlights");
  const backdrop = root.querySelector(".backdrop");
  const counter = root.querySelector(".counter");
  const list = root.querySelector(".violations");
  const lang = root.dataset.lang || "fa";
  const kind = root.dataset.kind;
  const words = {
    fa: { chars: "نویسه", parts: "بخش", left: "نویسه تا بخش بعد", suffix: "با «لغو۱۱» که افزوده می‌شود", persian: "فارسی", latin: "لاتین", price: "ریال برای هر گیرندهٔ همراه اول" },
    en: { chars: "characters", parts: "parts", left: "left in this part", suffix: "with «لغو۱۱» added", persian: "Persian", latin: "Latin", price: "rials per MCI recipient" },
  }[lang];
  let timer = null;
  let serial = 0;
  let serverViolations = null;

  const showCount = (info, suffixed, price) => {
    const encoding = info.encoding === "UCS-2" ? `UCS-2 (${words.persian})` : `GSM-7 (${words.latin})`;
    const money = (n) => digits(n.toLocaleString("en-US").replace(/,/g, lang === "fa" ? "٬" : ","), lang);
    counter.innerHTML = `<strong>${digits(info.characters, lang)}</strong> ${words.chars} | <strong>${digits(info.segments, lang)}</strong> ${words.parts} | ${encoding}` +
      ` | ${digits(info.remaining, lang)} ${words.left}` + (suffixed ? ` | <span class="note">${words.suffix}</span>` : "") +
      (price ? ` | ${money(price)} ${words.price}` : "");
  };

  const draw = (violations) => {
    const text = textarea.value;
    const spans = violations
      .map((v, i) => ({ start: toUnits(text, v.start), end: toUnits(text, v.end), n: i + 1 }))
      .filter((s) => s.end > s.start)
      .sort((a, b) => a.start - b.start);
    let html = "";
    let at = 0;
    for (const s of spans) {
      if (s.start < at) continue;
      html += escapeHtml(text.slice(at, s.start)) + `<mark data-n="${s.n}">${escapeHtml(text.slice(s.start, s.end))}</mark>`;
      at = s.end;
    }
    // The zero-width space keeps a trailing line break as tall as in the textarea.
    highlights.innerHTML = html + escapeHtml(text.slice(at)) + "\u200b";
    if (list) {
      list.innerHTML = violations.length
        ? "<ol>" + violations.map((v, i) => `<li data-n="${i + 1}">${escapeHtml(lang === "en" ? v.message_en : v.message)}</li>`).join("") + "</ol>"
        : "";
    }
    textarea.setAttribute("aria-invalid", violations.length ? "true" : "false");
    syncScroll();
  };

  const syncScroll = () => { backdrop.scrollTop = textarea.scrollTop; };

  const check = async () => {
    const mine = ++serial;
    const text = textarea.value;
    if (!text.trim()) { serverViolations = []; draw([]); return; }
    const line = document.querySelector("#f-line");
    try {
      const { ok, body } = await getJSON(root.dataset.checkUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ kind, text, line: line && line.value ? line.value : null }),
      });
      if (mine !== serial) return; // a newer check is on its way
      if (ok) {
        serverViolations = body.violations;
        const price = body.cost_per_recipient ? body.cost_per_recipient.MCI : null;
        showCount({ encoding: body.encoding, characters: body.characters, segments: body.segments, remaining: body.remaining }, body.text !== text, price);
        draw(body.violations);
      } else if (body && body.detail) {
        counter.innerHTML = `<span class="over">${escapeHtml(body.detail)}</span>`;
      }
    } catch (error) {
      // Offline or logged out: the local count stays, the server checks again on submit.
    }
  };

  const onInput = () => {
    const text = textarea.value;
    const suffixed = kind === "informational" && text.trim() !== "" && !OPT_OUT.test(text);
    showCount(analyse(suffixed ? text.replace(/\s+$/, "") + "\nلغو۱۱" : text), suffixed);
    // Until the server answers, the old marks would sit on the wrong letters: clear them.
    if (serverViolations && serverViolations.length) { serverViolations = null; draw([]); }
    else highlights.innerHTML = escapeHtml(text) + "\u200b";
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  };

  textarea.addEventListener("input", onInput);
  textarea.addEventListener("scroll", syncScroll);
  root.querySelectorAll("[data-insert]").forEach((button) => {
    button.addEventListener("click", () => {
      const name = button.dataset.insert;
      const start = textarea.selectionStart;
      const end = textarea.selectionEnd;
      const before = textarea.value.slice(0, start);
      const pad = before && !/\s$/.test(before) ? " " : "";
      textarea.setRangeText(pad + name, start, end, "end");
      textarea.focus();
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
  onInput();
}

function startSendForm(form) {
  const summary = form.querySelector("[data-summary]");
  const confirm = form.querySelector("[data-confirm-button]");
  const staleNote = form.querySelector("[data-stale-note]");
  const fingerprint = () => new URLSearchParams(new FormData(form)).toString();
  let first = "";
  const onChange = () => {
    if (!confirm) return;
    const stale = fingerprint() !== first;
    confirm.disabled = stale;
    confirm.setAttribute("aria-disabled", stale ? "true" : "false");
    if (staleNote) staleNote.hidden = !stale;
    summary.classList.toggle("stale", stale);
  };
  form.addEventListener("input", onChange);
  form.addEventListener("change", onChange);

  // The date selects matter only when "at a set time" is chosen.
  const fields = form.querySelector("[data-when-fields]");
  const radios = form.querySelectorAll("input[name=when]");
  const syncWhen = () => {
    const later = form.querySelector("input[name=when]:checked");
    const on = later && later.value === "later";
    fields.setAttribute("aria-disabled", on ? "false" : "true");
    fields.querySelectorAll("select").forEach((s) => { s.disabled = !on; });
  };
  radios.forEach((r) => r.addEventListener("change", syncWhen));
  // Disabled selects are not sent; enable them again just before a submit so the values travel.
  form.addEventListener("submit", () => fields.querySelectorAll("select").forEach((s) => { s.disabled = false; }), true);
  syncWhen();
  first = fingerprint();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-composer]").forEach(startComposer);
  document.querySelectorAll("[data-send-form]").forEach(startSendForm);
  startLiveSends();
  startJobPolls();
});
