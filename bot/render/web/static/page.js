// The reveal page's script: the only code the page runs, served by the bot itself.
//
// The link key is the part of the address after '#'. Browsers never send it, so it
// reaches the server only in the body of the reveal POST below. It is read once, then
// removed from the address bar (and so from the history) and kept in memory only.
// Loading the page uses nothing up: only the Reveal button does.
(function () {
  "use strict";

  var page = document.getElementById("page");
  if (!page) {
    return; // the "no longer available" page: nothing to do
  }

  var key = location.hash.length > 1 ? location.hash.slice(1) : null;
  if (location.hash) {
    history.replaceState(history.state, "", location.pathname + location.search);
  }

  var texts = page.dataset;
  var status = document.getElementById("status");
  var emailStep = document.getElementById("email-step");
  var revealStep = document.getElementById("reveal-step");
  var emailInput = document.getElementById("email");
  var codeInput = document.getElementById("code");
  var passField = document.getElementById("passphrase-field");
  var passInput = document.getElementById("passphrase");
  var revealed = document.getElementById("revealed");
  var secretBox = document.getElementById("secret");
  var codeSent = false;
  // The code request's ticket: sent back with the code typed, so that only the code this
  // request mailed is tried (nobody else's tries can spend or void it).
  var ticket = null;

  function say(message, kind) {
    status.textContent = message || "";
    status.className = "status" + (message && kind ? " " + kind : "");
  }

  function setBusy(form, busy) {
    var buttons = form.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = busy;
    }
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  // One POST of JSON to the page's own origin; the answer's JSON, or null after saying
  // why there is none.
  async function post(url, body) {
    try {
      var response = await fetch(url, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
        redirect: "error",
        referrerPolicy: "no-referrer"
      });
      return await response.json();
    } catch (error) {
      say(texts.textNetwork, "error");
      return null;
    }
  }

  function gone() {
    key = null;
    var template = document.getElementById("gone");
    page.replaceChildren(template.content.cloneNode(true));
    page.classList.add("gone");
    document.title = texts.textGoneTitle;
    document.getElementById("heading").focus();
  }

  function showSecret(answer) {
    key = null; // used: nothing more to send
    if (emailStep) {
      emailStep.hidden = true;
    }
    revealStep.hidden = true;
    secretBox.value = answer.text;
    var lines = answer.text.split("\n").length;
    secretBox.rows = Math.min(Math.max(lines, 3), 16);
    document.getElementById("after").textContent = answer.message;
    revealed.hidden = false;
    say("");
    secretBox.focus();
    secretBox.setSelectionRange(0, 0);
    secretBox.scrollTop = 0;
  }

  async function copySecret() {
    var copied = false;
    try {
      await navigator.clipboard.writeText(secretBox.value);
      copied = true;
    } catch (error) {
      // No Clipboard API here (an http page, an older browser): select and copy.
      secretBox.focus();
      secretBox.select();
      try {
        copied = document.execCommand("copy");
      } catch (ignored) {
        copied = false;
      }
    }
    say(copied ? texts.textCopied : texts.textCopyFailed, copied ? "ok" : "error");
  }

  function showPassphrase() {
    passField.hidden = false;
    passInput.focus();
  }

  async function sendCode(event) {
    event.preventDefault();
    if (!key) {
      say(texts.textNoKey, "error");
      return;
    }
    var address = emailInput.value.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) {
      say(texts.textEmailFormat, "error");
      emailInput.focus();
      return;
    }
    setBusy(emailStep, true);
    say(texts.textWorking);
    var answer = await post(page.dataset.codeUrl, {key: key, email: address});
    setBusy(emailStep, false);
    if (!answer) {
      return;
    }
    if (answer.outcome === "gone") {
      gone();
    } else if (answer.outcome === "sent") {
      codeSent = true;
      ticket = answer.ticket || null;
      document.getElementById("send-code").textContent = texts.textResend;
      revealStep.hidden = false;
      say(answer.message, "ok");
      codeInput.value = "";
      codeInput.focus();
    } else {
      say(answer.message, "error");
    }
  }

  async function reveal(event) {
    event.preventDefault();
    if (!key) {
      say(texts.textNoKey, "error");
      return;
    }
    var body = {key: key};
    if (emailStep) {
      body.email = emailInput.value.trim();
      body.code = codeInput.value.replace(/\s+/g, "");
      if (ticket) {
        body.ticket = ticket;
      }
      if (!/^[0-9]{6,8}$/.test(body.code)) {
        say(texts.textCodeFormat, "error");
        codeInput.focus();
        return;
      }
    }
    if (!passField.hidden && passInput.value) {
      body.passphrase = passInput.value;
    }
    setBusy(revealStep, true);
    say(texts.textWorking);
    var answer = await post(page.dataset.revealUrl, body);
    setBusy(revealStep, false);
    if (!answer) {
      return;
    }
    switch (answer.outcome) {
      case "revealed":
        passInput.value = "";
        showSecret(answer);
        break;
      case "gone":
        gone();
        break;
      case "code_needed":
      case "code_void":
        say(answer.message, "error");
        if (emailStep) {
          codeInput.value = "";
          emailInput.focus();
        }
        break;
      case "wrong_code":
        say(answer.message, "error");
        codeInput.value = "";
        codeInput.focus();
        break;
      case "needs_passphrase":
        say(answer.message, "error");
        showPassphrase();
        break;
      case "wrong_passphrase":
        say(answer.message, "error");
        passInput.value = "";
        showPassphrase();
        break;
      default: // locked, rate_limited, busy, or a refused request
        say(answer.message, "error");
    }
  }

  // The expiry in the reader's own time zone (the page states it in UTC).
  var expiry = document.querySelector("time[datetime]");
  if (expiry) {
    var when = new Date(expiry.dateTime);
    if (!isNaN(when.getTime())) {
      expiry.textContent = when.toLocaleString(undefined,
        {dateStyle: "long", timeStyle: "short"});
    }
  }

  document.getElementById("copy").addEventListener("click", copySecret);
  revealStep.addEventListener("submit", reveal);
  if (emailStep) {
    emailStep.addEventListener("submit", sendCode);
  }

  if (!key) {
    say(texts.textNoKey, "error");
    return;
  }
  if (emailStep) {
    emailStep.hidden = false;
    revealStep.hidden = !codeSent;
  } else {
    revealStep.hidden = false;
  }
})();
