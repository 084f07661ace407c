// Small enhancements; every page works without them.
(function () {
  'use strict';
  // Sign-in: preselect the browser's time zone when the list has it.
  const zoneSelect = document.querySelector('select[data-detect-zone]');
  if (zoneSelect) {
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone && [...zoneSelect.options].some((o) => o.value === zone)) zoneSelect.value = zone;
    } catch { /* keep UTC */ }
  }
  // Destructive actions ask first.
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
  // A refused form: move focus to the list of what to fix.
  // A preview: move focus to what it found.
  const summary = document.getElementById('error-summary') || document.getElementById('preview');
  if (summary) summary.focus();
  // The one-time secret: select it whole on focus, ready to copy.
  for (const input of document.querySelectorAll('input[data-select-on-focus]')) {
    input.addEventListener('focus', () => input.select());
  }
})();
