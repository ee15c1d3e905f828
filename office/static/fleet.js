// The fleet table refreshes itself: its body is fetched again every few seconds (no reload, no build chain).
(function () {
  var table = document.getElementById("fleet");
  if (!table) return;
  var every = 1000 * (parseInt(table.dataset.every, 10) || 5);
  var stale = document.getElementById("fleet-stale");
  function refresh() {
    fetch(table.dataset.refresh, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { if (!r.ok || r.redirected) throw new Error(r.status); return r.text(); })
      .then(function (html) { table.tBodies[0].innerHTML = html; stale.hidden = true; })
      .catch(function () { stale.hidden = false; })
      .then(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
