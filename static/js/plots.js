// Draws each .plot[data-figure] element from the JSON <script> its data-figure names.
// A file, not an inline script, so the Content-Security-Policy can forbid inline scripts.
document.querySelectorAll(".plot[data-figure]").forEach(function (el) {
  var figure = JSON.parse(document.getElementById(el.dataset.figure).textContent);
  if (figure) Plotly.newPlot(el, figure.data, figure.layout, {responsive: true, displaylogo: false});
});
