// The supervisor wallboard: numbers updated in place from /supervisore/ws (no reload).
"use strict";
(function () {
  var STATUS = document.getElementById("live-status");

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "\u2014"; }
    var rest = seconds % 60;
    return Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function cell(text, numeric) {
    var td = document.createElement("td");
    td.textContent = text;
    if (numeric) { td.className = "num"; }
    return td;
  }

  function showQueues(queues) {
    queues.forEach(function (q) {
      var row = document.getElementById("queue-" + q.slug);
      if (!row) { return; }
      row.querySelectorAll("[data-field]").forEach(function (td) {
        var name = td.getAttribute("data-field");
        td.textContent = name === "longest_wait_seconds" ? duration(q[name]) : String(q[name]);
      });
      row.classList.toggle("waiting-now", q.waiting > 0);
    });
  }

  function showAgents(agents) {
    var body = document.querySelector("#agents tbody");
    var rows = agents.map(function (a) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-agent", String(a.id));
      tr.appendChild(cell(a.name, false));
      tr.appendChild(cell(a.state_label, false));
      tr.appendChild(cell(duration(a.seconds_in_state), true));
      return tr;
    });
    if (rows.length === 0) {
      var tr = document.createElement("tr");
      var td = cell(document.getElementById("agents").getAttribute("data-empty"), false);
      td.colSpan = 3;
      tr.appendChild(td);
      rows.push(tr);
    }
    body.replaceChildren.apply(body, rows);
  }

  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = {met: "#2e7d32", missed: "#b3261e", none: "#999"};

  function showGauge(row, g) {
    var value = row.querySelector("[data-field=value]");
    var state = g.met === null ? "none" : (g.met ? "met" : "missed");
    value.textContent = g.shown;
    value.classList.toggle("met", state === "met");
    value.classList.toggle("missed", state === "missed");
    var bar = row.querySelector("[data-part=bar]");
    bar.setAttribute("width", (g.bar_pct * 2.2).toFixed(1));
    bar.setAttribute("fill", COLOURS[state]);
    var target = row.querySelector("[data-part=target]");
    target.setAttribute("x1", (g.target_pct * 2.2).toFixed(1));
    target.setAttribute("x2", (g.target_pct * 2.2).toFixed(1));
  }

  function showSla(cards) {
    cards.forEach(function (c) {
      var block = document.querySelector(
        "section[data-service='" + c.slug + "'][data-period='" + c.period + "']");
      if (!block) { return; }
      block.querySelector("[data-field=answered]").textContent = String(c.answered);
      block.querySelector("[data-field=abandoned]").textContent = String(c.abandoned);
      c.gauges.forEach(function (g) {
        var row = block.querySelector("tr[data-figure='" + g.label + "']");
        if (row) { showGauge(row, g); }
      });
    });
  }

  function rect(kind, x, y, height, fill) {
    var r = document.createElementNS(SVG, "rect");
    r.setAttribute("class", kind);
    r.setAttribute("x", String(x + 2));
    r.setAttribute("y", String(y));
    r.setAttribute("width", "10");
    r.setAttribute("height", String(height));
    r.setAttribute("fill", fill);
    return r;
  }

  function showChart(chart) {
    var svg = document.getElementById("calls-chart");
    if (!svg) { return; }
    var words = [svg.getAttribute("data-word-answered"), svg.getAttribute("data-word-abandoned")];
    var columns = chart.columns.map(function (c) {
      var g = document.createElementNS(SVG, "g");
      g.setAttribute("data-slot", c.label);
      var title = document.createElementNS(SVG, "title");
      title.textContent = c.label + ": " + words[0] + " " + c.answered + ", " + words[1] + " " +
        c.abandoned;
      g.appendChild(title);
      g.appendChild(rect("answered", c.x, chart.height - c.answered_height, c.answered_height,
                         "#1565c0"));
      g.appendChild(rect("abandoned", c.x,
                         chart.height - c.answered_height - c.abandoned_height,
                         c.abandoned_height, "#b3261e"));
      return g;
    });
    var group = svg.querySelector("[data-part=columns]");
    group.replaceChildren.apply(group, columns);
    svg.querySelector("[data-field=top]").textContent = String(chart.top);
    var totals = document.getElementById("chart-totals");
    totals.querySelector("[data-field=answered]").textContent = String(chart.answered);
    totals.querySelector("[data-field=abandoned]").textContent = String(chart.abandoned);
  }

  function showTime(iso) {
    var at = new Date(iso);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    document.getElementById("as-of").textContent =
      pad(at.getHours()) + ":" + pad(at.getMinutes()) + ":" + pad(at.getSeconds());
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/supervisore/ws");
    socket.onopen = function () { STATUS.setAttribute("data-connected", "1"); };
    socket.onmessage = function (event) {
      var board = JSON.parse(event.data);
      showQueues(board.queues);
      showAgents(board.agents);
      if (board.sla) { showSla(board.sla); }
      if (board.chart) { showChart(board.chart); }
      showTime(board.as_of);
    };
    socket.onclose = function () {
      STATUS.setAttribute("data-connected", "0");
      // Session over: back to the login page; otherwise try again shortly.
      fetch(location.pathname, {redirect: "manual"}).then(function (r) {
        if (r.type === "opaqueredirect" || r.status === 403) { location.reload(); }
        else { setTimeout(connect, 2000); }
      }, function () { setTimeout(connect, 2000); });
    };
  }

  connect();
})();
