// The /dev/phone page: keep a USSD session's inputs, join them with "*" like Africa's Talking,
// and post each hop to /dev/phone/hop (which runs the real /at/ussd view server-side).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const screen = $("screen"), form = $("reply-form"), reply = $("reply"), hint = $("hint");
  const operator = $("operator"), msisdn = $("msisdn"), log = $("log");
  const dialBtn = $("dial"), cancelBtn = $("cancel"), sendBtn = $("send");
  const HINT = hint.innerHTML;
  let session = null; // {id, inputs} while a session is open
  let busy = false;

  // Each line takes its own direction (dir="auto"): an English screen under an Arabic name
  // stays left-to-right, and an Arabic line keeps its full stop at its own end.
  function fillLines(el, text) {
    el.textContent = "";
    for (const line of text.split("\n")) {
      const div = document.createElement("div");
      div.className = "line";
      div.dir = "auto";
      div.textContent = line || "\u00a0";
      el.appendChild(div);
    }
  }

  function note(cls, text) {
    const li = document.createElement("li");
    li.className = cls;
    fillLines(li, new Date().toLocaleTimeString() + " " + text);
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function showScreen(text) { fillLines(screen, text); }

  function smsLink() {
    $("sms-link").href = $("sms-link").dataset.base + "?to=" + encodeURIComponent(msisdn.value.trim());
  }

  function setState(text) { $("state").textContent = text; }

  function badHint(text) { hint.textContent = text; hint.classList.add("bad"); }

  function resetHint() { hint.innerHTML = HINT; hint.classList.remove("bad"); }

  function open(isOpen) {
    form.hidden = !isOpen;
    cancelBtn.disabled = !isOpen;
    dialBtn.disabled = isOpen;
    operator.disabled = msisdn.disabled = isOpen;
    screen.classList.toggle("ended", !isOpen);
    if (isOpen) { reply.value = ""; reply.focus(); }
  }

  function end(state) {
    session = null;
    open(false);
    setState(state);
    dialBtn.textContent = "Dial again";
  }

  async function hop() {
    const text = session.inputs.join("*");
    const opt = operator.selectedOptions[0];
    busy = true;
    sendBtn.disabled = true;
    const started = performance.now();
    let data, status;
    try {
      const resp = await fetch($("phone").dataset.hop, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({sessionId: session.id, phoneNumber: msisdn.value.trim(),
                              networkCode: opt.dataset.network, text: text}),
      });
      status = resp.status;
      data = await resp.json();
    } catch (err) {
      data = {error: String(err)};
    } finally {
      busy = false;
      sendBtn.disabled = false;
    }
    const ms = Math.round(performance.now() - started);
    if (!data || data.error !== undefined || (data.kind !== "CON" && data.kind !== "END")) {
      const why = (data && data.error) || "unexpected answer";
      note("err", "✖ " + (status || "") + " " + why);
      showScreen("Connection problem or invalid MMI code.\n" + why);
      end("error");
      return;
    }
    note("in", "← " + data.kind + " (" + ms + " ms)\n" + data.text);
    showScreen(data.text);
    if (data.kind === "END") {
      end("session ended");
    } else {
      setState("in session: " + session.inputs.length + " input(s)");
      reply.focus();
    }
  }

  function dial() {
    if (busy) return;
    const id = "DEV_" + Date.now().toString(36) + "_" + Math.random().toString(36).slice(2, 8);
    session = {id: id, inputs: []};
    $("session").textContent = id;
    log.textContent = "";
    note("out", "→ dial " + operator.selectedOptions[0].textContent + " " + msisdn.value.trim());
    showScreen("USSD code running…");
    resetHint();
    open(true);
    hop();
  }

  function send() {
    if (!session || busy) return;
    const value = reply.value.trim();
    if (!/^[0-9]+$/.test(value)) {
      badHint(value ? "Digits only (0–9), please." : "Type some digits first.");
      return;
    }
    resetHint();
    session.inputs.push(value);
    note("out", "→ " + value + "   (text=" + session.inputs.join("*") + ")");
    reply.value = "";
    hop();
  }

  function cancel() {
    if (!session) return;
    note("err", "✖ cancelled (hung up)");
    showScreen("Cancelled.");
    end("cancelled");
  }

  // Arabic-Indic and Persian digits become ASCII; anything else is refused with a hint.
  reply.addEventListener("input", () => {
    const folded = reply.value.replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660))
                              .replace(/[\u06F0-\u06F9]/g, (d) => String(d.charCodeAt(0) - 0x06F0));
    const digits = folded.replace(/[^0-9]/g, "");
    if (digits !== folded) badHint("Digits only (0–9): other characters are ignored.");
    if (digits !== reply.value) reply.value = digits;
  });

  operator.addEventListener("change", () => {
    const opt = operator.selectedOptions[0];
    const m = /^\+20(1[0-9])([0-9]{8})$/.exec(msisdn.value.trim());
    msisdn.value = m ? "+20" + opt.dataset.prefix.slice(1) + m[2] : opt.dataset.msisdn;
    $("brand").textContent = opt.textContent.split(" (")[0];
    smsLink();
  });
  msisdn.addEventListener("input", smsLink);
  smsLink();

  $("pad").addEventListener("click", (ev) => {
    const key = ev.target.dataset && ev.target.dataset.key;
    if (!key) return;
    if (!session) { if (key === "send") dial(); return; }
    if (key === "send") send();
    else if (key === "back") reply.value = reply.value.slice(0, -1);
    else reply.value += key;
  });

  form.addEventListener("submit", (ev) => { ev.preventDefault(); send(); });
  dialBtn.addEventListener("click", dial);
  cancelBtn.addEventListener("click", cancel);
})();
