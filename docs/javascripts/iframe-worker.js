// A minimal Web Worker polyfill for pages opened from file://, where browsers refuse `new Worker(url)`.
// Material's search runs in a worker; with the offline plugin the index is inlined, and this shim runs the
// worker script in a hidden same-origin iframe instead. Written for encyclo (the offline plugin would
// otherwise load https://unpkg.com/iframe-worker/shim, which an offline site cannot reach).
(function () {
  "use strict";
  if (location.protocol !== "file:" || window.__encycloIFrameWorker) return;
  window.__encycloIFrameWorker = true;

  function IFrameWorker(url) {
    var self = this;
    url = new URL(String(url), location.href).href; // workers resolve relative URLs against the page
    var target = document.createDocumentFragment(); // an EventTarget for "message"/"error" listeners
    this.addEventListener = target.addEventListener.bind(target);
    this.removeEventListener = target.removeEventListener.bind(target);
    this.dispatchEvent = target.dispatchEvent.bind(target);
    this.onmessage = null;
    this.onerror = null;
    var queue = [];
    var ready = false;
    var iframe = document.createElement("iframe");
    iframe.setAttribute("aria-hidden", "true");
    iframe.tabIndex = -1;
    iframe.style.display = "none";
    (document.body || document.documentElement).appendChild(iframe);
    var scope = iframe.contentWindow;
    var doc = scope.document;

    function emit(type, init) {
      var event = type === "message" ? new MessageEvent("message", init) : new ErrorEvent("error", init);
      var handler = self["on" + type];
      if (typeof handler === "function") handler.call(self, event);
      self.dispatchEvent(event);
    }

    // the worker's global scope: postMessage goes to the page, importScripts loads scripts in order
    scope.postMessage = function (data) { setTimeout(function () { emit("message", { data: data }); }, 0); };
    scope.importScripts = function () {
      var urls = Array.prototype.slice.call(arguments);
      return urls.reduce(function (previous, src) {
        return previous.then(function () {
          return new Promise(function (resolve, reject) {
            var script = doc.createElement("script");
            script.src = new URL(src, url).href;
            script.onload = resolve;
            script.onerror = function () { reject(new Error("importScripts: cannot load " + src)); };
            doc.head.appendChild(script);
          });
        });
      }, Promise.resolve());
    };
    scope.onerror = function (message) { emit("error", { message: String(message) }); };
    scope.importScripts(url).then(function () {
      ready = true;
      queue.splice(0).forEach(function (data) { self.postMessage(data); });
    }, function (error) { emit("error", { message: error.message }); });

    this.postMessage = function (data) {
      if (!ready) { queue.push(data); return; }
      setTimeout(function () { scope.dispatchEvent(new scope.MessageEvent("message", { data: data })); }, 0);
    };
    this.terminate = function () { iframe.remove(); };
  }

  window.Worker = IFrameWorker;
})();
