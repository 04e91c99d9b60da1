// Draws the case graph from the JSON in #graph-data with vis-network (loaded before this
// script, from a file beside the page or inlined: never from the network). The nodes arrive
// with the readable layout's positions (graphfraud.views.readable) and physics off, so no
// label is drawn over another. When the graph is drawn and still, document.body gets
// data-graph-ready="1" and window.graphfraudReady the time it took (ms since navigation).
(function () {
  "use strict";
  var holder = document.getElementById("graph-data");
  var container = document.getElementById("network");
  if (!holder || !container || typeof vis === "undefined") { return; }
  var data = JSON.parse(holder.textContent);
  function tip(text) {
    var div = document.createElement("div");
    div.className = "gf-tip";
    div.textContent = text;  // text, never HTML
    return div;
  }
  data.nodes.forEach(function (n) { if (typeof n.title === "string") { n.title = tip(n.title); } });
  data.edges.forEach(function (e) { if (typeof e.title === "string") { e.title = tip(e.title); } });
  var network = new vis.Network(container, {
    nodes: new vis.DataSet(data.nodes), edges: new vis.DataSet(data.edges)
  }, data.options);
  window.graphfraudNetwork = network;
  function ready() {
    if (document.body.dataset.graphReady === "1") { return; }
    document.body.dataset.graphReady = "1";
    window.graphfraudReady = performance.now();
  }
  var physics = data.options.physics && data.options.physics.enabled;
  if (physics) {
    network.once("stabilizationIterationsDone", function () {
      network.setOptions({ physics: { enabled: false } });
      network.once("afterDrawing", ready);
      network.fit();
    });
  } else {
    network.once("afterDrawing", function () { ready(); });
    network.fit();
  }
})();
