// Satchel dashboard: confirmations and copy buttons. Everything works
// without this file; it only adds comfort.
"use strict";
document.addEventListener("submit", function (e) {
  var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
  }
});
document.addEventListener("click", function (e) {
  var btn = e.target.closest && e.target.closest("button[data-copy]");
  if (!btn) {
    return;
  }
  var input = document.getElementById(btn.getAttribute("data-copy"));
  var status = btn.parentNode.querySelector(".copied");
  var done = function (ok) {
    if (status) {
      status.textContent = ok ? "Copied." : "Select the URL and copy it.";
    }
  };
  input.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { done(false); });
    return;
  }
  var ok = false;
  try {
    ok = document.execCommand("copy");
  } catch (err) {
    ok = false;
  }
  done(ok);
});
