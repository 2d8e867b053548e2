// The staff pages' only script: print a counter receipt once when its page first shows it.
(function () {
  "use strict";
  if (document.body && document.body.dataset.autoPrint) window.addEventListener("load", function () { window.print(); });
})();
// A button that prints its page (the arrears notice).
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});
