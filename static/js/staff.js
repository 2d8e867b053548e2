// The staff pages' only script: print a counter receipt once when its page first shows it.
(function () {
  "use strict";
  if (document.body && document.body.dataset.autoPrint) window.addEventListener("load", function () { window.print(); });
})();
