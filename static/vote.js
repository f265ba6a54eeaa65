// Keyboard shortcuts for the vote page: each button (and "Next battle") names its key in data-key.
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  var target = event.target;
  if (target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName))) return;
  var key = event.key === "Enter" ? "enter" : event.key.toLowerCase();
  // Enter on a focused button or link already activates it.
  if (key === "enter" && target && /^(A|BUTTON)$/.test(target.tagName)) return;
  var control = document.querySelector('#battle [data-key="' + key + '"]');
  if (!control) return;
  event.preventDefault();
  control.click();
});
