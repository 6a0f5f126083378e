// The sandbox inspector: reads the JSON inspection routes and draws them. Everything a client
// sent reaches the page as text (textContent and text nodes only), never as HTML.
"use strict";

(function () {
  const API = "api/v1/_sandbox";
  const TABS = ["requests", "sales", "orders", "webhooks", "limits"];
  const REFRESH_MS = { requests: 1000, orders: 2000, webhooks: 1000, limits: 500 };
  const SVG = "http://www.w3.org/2000/svg";
  const state = {
    tab: null,
    timer: null,
    page: { requests: 1, sales: 1, orders: 1, webhooks: 1 },
    order: null,
    delivery: null,
    salesRendered: false,
    generation: 0,
    drawn: {},
  };

  // A poll whose answer is what is on screen already draws nothing (no flicker, selections
  // and the rows a user is about to click stay).
  function changed(name, body) {
    const text = JSON.stringify(body);
    if (state.drawn[name] === text) return false;
    state.drawn[name] = text;
    return true;
  }

  // -- DOM helpers: text only ------------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "className") node.className = value;
      else if (name === "onclick") node.addEventListener("click", value);
      else if (name.startsWith("data-")) node.setAttribute(name, String(value));
      else node[name] = value;
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function fill(tbody, rows, empty, columns) {
    tbody.replaceChildren(
      ...(rows.length ? rows : [el("tr", { className: "empty" }, el("td", { colSpan: columns }, empty))])
    );
  }

  function time(iso) {
    if (!iso) return "";
    const moment = new Date(iso);
    return isNaN(moment) ? String(iso) : moment.toLocaleTimeString([], { hour12: false });
  }

  function when(iso) {
    if (!iso) return "";
    const moment = new Date(iso);
    return isNaN(moment) ? String(iso) : moment.toLocaleString([], { hour12: false });
  }

  function number(value) {
    return value === null || value === undefined ? "—" : Number(value).toLocaleString("en");
  }

  function plural(count, noun) {
    return count === 1 ? noun : noun + "s";
  }

  function statusClass(status) {
    if (!status) return "status none";
    return "status s" + String(status)[0];
  }

  // -- talking to the sandbox ------------------------------------------------------------

  async function call(path, options) {
    let response;
    try {
      response = await fetch(API + path, Object.assign({ headers: { Accept: "application/json" } }, options));
    } catch (error) {
      throw new Error("the sandbox is not reachable (" + error.message + ")");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      throw new Error("the sandbox answered " + response.status + " with something that is not JSON");
    }
    if (!response.ok) {
      const details = Array.isArray(body.details) && body.details.length ? " (" + body.details.join("; ") + ")" : "";
      throw new Error(String(body.message || body.error || response.status) + details);
    }
    return body;
  }

  function problem(error) {
    const box = document.getElementById("problem");
    box.textContent = error ? String(error.message || error) : "";
    box.hidden = !error;
  }

  function query(params) {
    const found = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== "" && value !== null && value !== undefined) found.set(name, value);
    }
    const text = found.toString();
    return text ? "?" + text : "";
  }

  function pager(id, tab, pagination, labels) {
    const box = document.getElementById(id);
    const pages = Math.max(1, pagination.pages);
    const go = (page) => {
      state.page[tab] = page;
      refresh();
    };
    box.replaceChildren(
      el("button", { type: "button", className: "prev", disabled: pagination.page <= 1, onclick: () => go(pagination.page - 1) }, labels[0]),
      el("span", { className: "page-of" }, "page " + number(pagination.page) + " of " + number(pages) + " · " + number(pagination.total) + " in all"),
      el("button", { type: "button", className: "next", disabled: pagination.page >= pages, onclick: () => go(pagination.page + 1) }, labels[1])
    );
  }

  const NEWEST_FIRST = ["‹ newer", "older ›"];

  // -- tabs --------------------------------------------------------------------------------

  async function showInfo() {
    try {
      const info = (await call("/info")).data;
      const keys = info.keys.map((k) => k.key + " (" + k.role + ")").join(", ");
      document.getElementById("info").textContent =
        "version " + info.version + " · " + number(info.products) + " products · keys: " + keys +
        " · rate limits " + (info.rate_limits ? "enforced" : "off") +
        " · webhooks " + (info.webhook_url ? "to " + info.webhook_url : "off");
      const delays = info.webhook_retry_delays.map((s) => s + " s").join(", ");
      document.getElementById("webhooks-target").textContent = info.webhook_url
        ? "Deliveries to " + info.webhook_url + ", signed" + (delays ? ", retried after " + delays : "") + "."
        : "This sandbox has no webhook URL (pleasurestock sandbox --webhook-url URL), so it sends no webhooks.";
    } catch (error) {
      problem(error);
    }
  }

  async function loadRequests() {
    const body = await call("/requests" + query({ page: state.page.requests, limit: 50 }));
    if (!changed("requests", body)) return;
    const rows = body.data.map((r) =>
      el("tr", { "data-id": r.id },
        el("td", {}, time(r.at)),
        el("td", {}, r.method),
        el("td", { className: "path" }, r.path),
        el("td", { className: statusClass(r.status) }, r.status === null ? "—" : r.status),
        el("td", {}, r.api || "—"),
        el("td", {}, r.buckets.join(" + ") || "—"),
        el("td", {}, r.key || "—"),
        el("td", { className: "num" }, r.ms.toFixed(1)),
        el("td", { className: "mono" }, r.id),
        el("td", { className: "error" }, r.error || "")
      )
    );
    fill(document.querySelector("#requests-table tbody"), rows, "No requests yet.", 10);
    pager("requests-pager", "requests", body.pagination, NEWEST_FIRST);
  }

  function salesFilter() {
    return {
      product: document.getElementById("sales-product").value.trim(),
      from: document.getElementById("sales-from").value,
      to: document.getElementById("sales-to").value,
    };
  }

  async function loadSales() {
    const started = performance.now();
    const filter = salesFilter();
    const body = await call("/sales" + query(Object.assign({ page: state.page.sales, limit: 100 }, filter)));
    const rows = body.data.map((r) =>
      el("tr", {},
        el("td", { className: "mono" },
          el("a", { href: "#sales", onclick: (event) => { event.preventDefault(); chooseProduct(r.internal_id); } }, r.internal_id)),
        el("td", {}, r.sku),
        el("td", {}, r.name),
        el("td", {}, r.date),
        el("td", { className: "num" }, number(r.quantity)),
        el("td", { className: "num" }, number(r.stock_on_hand))
      )
    );
    fill(document.querySelector("#sales-table tbody"), rows, "No sales stored for this filter.", 6);
    const t = body.totals;
    const span = t.first_day ? " · " + t.first_day + " to " + t.last_day : "";
    const elapsed = Math.round(performance.now() - started);
    document.getElementById("sales-totals").replaceChildren(
      el("strong", { id: "sales-total-quantity" }, number(t.quantity)), plural(t.quantity, " unit") + " · ",
      el("strong", { id: "sales-total-days" }, number(t.product_days)), plural(t.product_days, " product-day") + " · ",
      el("strong", { id: "sales-total-products" }, number(t.products)), plural(t.products, " product") + span,
      el("span", { className: "muted" }, " · loaded in " + elapsed + " ms")
    );
    pager("sales-pager", "sales", body.pagination, ["‹ previous", "next ›"]);
    if (!state.salesRendered) {
      state.salesRendered = true;
      performance.mark("sales-rendered");
    }
    await drawChart(filter);
  }

  function chooseProduct(id) {
    document.getElementById("sales-product").value = id;
    state.page.sales = 1;
    refresh();
  }

  async function loadProductList() {
    try {
      const body = await call("/products" + query({ sold: "true", limit: 1000 }));
      document.getElementById("sales-products").replaceChildren(
        ...body.data.map((p) => el("option", { value: p.internal_id, label: p.sku + " · " + p.name }))
      );
    } catch (error) {
      problem(error);
    }
  }

  async function drawChart(filter) {
    const box = document.getElementById("sales-chart");
    if (!filter.product) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    const body = await call("/sales" + query({ product: filter.product, from: filter.from, to: filter.to, limit: 1000 }));
    const days = body.data;
    box.hidden = false;
    if (!days.length) {
      box.replaceChildren(el("p", { className: "muted" }, "No stored days to draw."));
      return;
    }
    const width = 720, height = 180, left = 48, right = 48, top = 16, bottom = 24;
    const inner = width - left - right, tall = height - top - bottom;
    const maxQuantity = Math.max(1, ...days.map((d) => d.quantity));
    const stocks = days.filter((d) => d.stock_on_hand !== null);
    const maxStock = Math.max(1, ...stocks.map((d) => d.stock_on_hand));
    const step = inner / days.length;
    const chart = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img", id: "sales-chart-svg" });
    chart.append(svg("title", {}, days[0].internal_id + ": daily quantity (bars) and stock (line)"));
    chart.append(svg("line", { x1: left, y1: top + tall, x2: left + inner, y2: top + tall, class: "axis" }));
    days.forEach((d, n) => {
      const h = (d.quantity / maxQuantity) * tall;
      const bar = svg("rect", { x: left + n * step + step * 0.15, y: top + tall - h, width: Math.max(1, step * 0.7), height: h, class: "bar" });
      bar.append(svg("title", {}, d.date + ": " + d.quantity + " sold, stock " + (d.stock_on_hand === null ? "—" : d.stock_on_hand)));
      chart.append(bar);
    });
    if (stocks.length) {
      const points = days
        .map((d, n) => (d.stock_on_hand === null ? null : (left + n * step + step / 2).toFixed(1) + "," + (top + tall - (d.stock_on_hand / maxStock) * tall).toFixed(1)))
        .filter(Boolean);
      chart.append(svg("polyline", { points: points.join(" "), class: "stock" }));
    }
    chart.append(svg("text", { x: left - 6, y: top + 4, class: "label end" }, maxQuantity));
    chart.append(svg("text", { x: left + inner + 6, y: top + 4, class: "label stock-label" }, stocks.length ? maxStock : ""));
    chart.append(svg("text", { x: left, y: height - 6, class: "label" }, days[0].date));
    chart.append(svg("text", { x: left + inner, y: height - 6, class: "label end" }, days[days.length - 1].date));
    const more = body.pagination.total > days.length ? " (first " + days.length + " of " + body.pagination.total + " days)" : "";
    box.replaceChildren(
      el("p", { className: "chart-title" }, days[0].internal_id + " · " + days[0].name + more,
        el("span", { className: "legend quantity" }, "quantity"), el("span", { className: "legend stock" }, "stock")),
      chart
    );
  }

  function history(order) {
    return ["created"].concat(order.history.map((h) => h.to)).join(" → ");
  }

  async function loadOrders() {
    const status = document.getElementById("orders-status").value;
    const body = await call("/orders" + query({ page: state.page.orders, limit: 50, status: status }));
    if (!changed("orders", [body, state.order])) return;
    const rows = body.data.map((o) =>
      el("tr", { className: o.order_number === state.order ? "selected clickable" : "clickable", "data-order": o.order_number, onclick: () => showOrder(o.order_number) },
        el("td", { className: "mono" }, o.order_number),
        el("td", {}, el("span", { className: "badge " + o.status }, o.status_label)),
        el("td", {}, o.supplier_name),
        el("td", { className: "num" }, o.total_amount + " " + o.currency),
        el("td", { className: "num" }, o.items),
        el("td", {}, when(o.created_at)),
        el("td", { className: "history" }, history(o)),
        el("td", { className: "comment" }, o.comment || "")
      )
    );
    fill(document.querySelector("#orders-table tbody"), rows, "No orders.", 8);
    pager("orders-pager", "orders", body.pagination, NEWEST_FIRST);
    if (state.order) await showOrder(state.order);
  }

  async function showOrder(number) {
    state.order = number;
    const box = document.getElementById("order-detail");
    let order;
    try {
      order = (await call("/orders/" + encodeURIComponent(number))).data;
    } catch (error) {
      box.hidden = true;
      state.order = null;
      return;
    }
    for (const row of document.querySelectorAll("#orders-table tbody tr")) {
      row.classList.toggle("selected", row.dataset.order === number);
    }
    const steps = [el("li", {}, el("strong", {}, "created"), " " + when(order.created_at))].concat(
      order.history.map((h) =>
        el("li", {}, el("strong", {}, h.from + " → " + h.to), " " + when(h.at),
          h.comment ? el("span", { className: "comment" }, " — " + h.comment) : null)
      )
    );
    box.hidden = false;
    box.replaceChildren(
      el("h2", {}, order.order_number + " · " + order.status_label),
      el("p", { className: "muted" },
        "delivery " + order.delivery_id + " · supplier " + order.supplier_name + " · external id " + (order.external_order_id || "—")),
      order.comment ? el("p", {}, "comment: ", el("span", { className: "comment", id: "order-comment" }, order.comment)) : null,
      el("h3", {}, "Status history"),
      el("ol", { id: "order-history" }, steps),
      el("h3", {}, "Lines"),
      el("table", {},
        el("thead", {}, el("tr", {}, ["product", "SKU", "name", "quantity", "unit price", "total"].map((h) => el("th", {}, h)))),
        el("tbody", {}, order.lines.map((l) =>
          el("tr", {}, el("td", { className: "mono" }, l.internal_id), el("td", {}, l.sku), el("td", {}, l.name),
            el("td", { className: "num" }, l.quantity), el("td", { className: "num" }, l.unit_price),
            el("td", { className: "num" }, l.total_price))))
      )
    );
  }

  function attemptsText(d) {
    return d.attempts.map((a) => (a.status === null ? a.error : a.status)).join(", ") || "—";
  }

  async function loadWebhooks() {
    const body = await call("/webhooks" + query({ page: state.page.webhooks, limit: 50 }));
    if (!changed("webhooks", [body, state.delivery])) return;
    const rows = body.data.map((d) =>
      el("tr", { className: d.id === state.delivery ? "selected clickable" : "clickable", "data-delivery": d.id, onclick: () => showDelivery(d) },
        el("td", {}, d.id),
        el("td", {}, d.event, d.resent_from ? el("span", { className: "muted" }, " (resend of #" + d.resent_from + ")") : null),
        el("td", { className: "path" }, d.url),
        el("td", {}, el("span", { className: "badge " + d.state }, d.state)),
        el("td", { className: "attempts" }, attemptsText(d)),
        el("td", {}, time(d.queued_at)),
        el("td", {}, el("button", { type: "button", className: "resend", onclick: (event) => { event.stopPropagation(); resend(d.id); } }, "Resend"))
      )
    );
    fill(document.querySelector("#webhooks-table tbody"), rows, "No webhook deliveries.", 7);
    pager("webhooks-pager", "webhooks", body.pagination, NEWEST_FIRST);
    const chosen = body.data.find((d) => d.id === state.delivery);
    if (chosen) showDelivery(chosen);
  }

  function showDelivery(d) {
    state.delivery = d.id;
    for (const row of document.querySelectorAll("#webhooks-table tbody tr")) {
      row.classList.toggle("selected", row.dataset.delivery === String(d.id));
    }
    const box = document.getElementById("webhook-detail");
    box.hidden = false;
    box.replaceChildren(
      el("h2", {}, "#" + d.id + " " + d.event + " → " + d.url),
      el("table", {},
        el("thead", {}, el("tr", {}, ["attempt", "time", "status", "X-Webhook-Signature", "X-Webhook-Timestamp", "ms"].map((h) => el("th", {}, h)))),
        el("tbody", {}, d.attempts.map((a, n) =>
          el("tr", {}, el("td", {}, n + 1), el("td", {}, time(a.at)),
            el("td", { className: statusClass(a.status) }, a.status === null ? a.error : a.status),
            el("td", { className: "mono" }, a.signature), el("td", { className: "mono" }, a.timestamp),
            el("td", { className: "num" }, a.ms.toFixed(1)))))
      ),
      el("h3", {}, "Payload"),
      el("pre", { id: "webhook-payload" }, JSON.stringify(d.payload, null, 2))
    );
  }

  async function resend(id) {
    try {
      const body = await call("/webhooks/" + id + "/resend", { method: "POST" });
      state.delivery = body.data.id;
      state.page.webhooks = 1;
      await refresh();
    } catch (error) {
      problem(error);
    }
  }

  async function loadLimits() {
    const body = await call("/limits");
    if (!changed("limits", body)) return;
    const box = document.getElementById("limits");
    if (!body.enforced) {
      box.replaceChildren(el("p", { className: "muted" }, "This sandbox enforces no rate limits (started with --no-rate-limits)."));
      return;
    }
    box.replaceChildren(
      ...body.data.map((row) =>
        el("div", { className: "limit-card", "data-key": row.key, "data-bucket": row.bucket },
          el("h3", {}, row.bucket + " · key " + row.key,
            row.refused ? el("span", { className: "refused" }, " · " + number(row.refused) + " refused (429)") : null),
          row.windows.map((w) => {
            // The width goes through the CSSOM: the page's policy allows no style attribute.
            const bar = el("span", { className: "meter-fill" });
            bar.style.width = (Math.min(1, w.used / w.limit) * 100).toFixed(1) + "%";
            return el("div", { className: "window" + (w.used >= w.limit ? " full" : ""), "data-seconds": w.seconds, "data-used": w.used, "data-limit": w.limit },
              el("span", { className: "window-name" }, number(w.limit) + " / " + span(w.seconds)),
              el("span", { className: "meter" }, bar),
              el("span", { className: "window-use" }, number(w.used) + " used" + (w.frees_in !== null ? " · oldest leaves in " + w.frees_in.toFixed(1) + " s" : ""))
            );
          })
        )
      )
    );
  }

  function span(seconds) {
    if (seconds % 3600 === 0) return seconds / 3600 === 1 ? "hour" : seconds / 3600 + " h";
    if (seconds % 60 === 0) return seconds / 60 === 1 ? "minute" : seconds / 60 + " min";
    return seconds === 1 ? "second" : seconds + " s";
  }

  const LOADERS = { requests: loadRequests, sales: loadSales, orders: loadOrders, webhooks: loadWebhooks, limits: loadLimits };

  // One refresh at a time counts: a newer one (a click, a tab change) makes an older one's
  // answer the last it draws, and only the newest schedules the next poll.
  async function refresh() {
    clearTimeout(state.timer);
    const generation = ++state.generation;
    try {
      await LOADERS[state.tab]();
      problem(null);
    } catch (error) {
      problem(error);
    }
    if (generation === state.generation) schedule();
  }

  function schedule() {
    const every = REFRESH_MS[state.tab];
    if (!every || !document.getElementById("live").checked) return;
    state.timer = setTimeout(() => (document.hidden ? schedule() : refresh()), every);
  }

  function show(tab) {
    if (!TABS.includes(tab)) tab = "requests";
    state.tab = tab;
    for (const name of TABS) {
      document.getElementById("panel-" + name).hidden = name !== tab;
      const button = document.getElementById("tab-" + name);
      button.setAttribute("aria-selected", String(name === tab));
      button.classList.toggle("active", name === tab);
    }
    if (tab === "sales") loadProductList();
    refresh();
  }

  function start() {
    for (const button of document.querySelectorAll("#tabs button")) {
      button.addEventListener("click", () => {
        if (location.hash !== "#" + button.dataset.tab) location.hash = button.dataset.tab;
        else show(button.dataset.tab);
      });
    }
    window.addEventListener("hashchange", () => show(location.hash.slice(1)));
    document.getElementById("sales-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      state.page.sales = 1;
      refresh();
    });
    document.getElementById("sales-clear").addEventListener("click", () => {
      for (const id of ["sales-product", "sales-from", "sales-to"]) document.getElementById(id).value = "";
      state.page.sales = 1;
      refresh();
    });
    document.getElementById("orders-status").addEventListener("change", () => {
      state.page.orders = 1;
      refresh();
    });
    document.getElementById("live").addEventListener("change", refresh);
    document.getElementById("reset").addEventListener("click", async () => {
      if (!window.confirm("Forget every sale, order, webhook delivery, logged request and rate-limit window?")) return;
      try {
        await call("/reset", { method: "POST" });
        state.order = state.delivery = null;
        document.getElementById("order-detail").hidden = true;
        document.getElementById("webhook-detail").hidden = true;
        await refresh();
      } catch (error) {
        problem(error);
      }
    });
    showInfo();
    show(location.hash.slice(1));
  }

  document.addEventListener("DOMContentLoaded", start);
})();
