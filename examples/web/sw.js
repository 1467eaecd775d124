// Offline after the first visit: the page's own files, cache first. Nothing else is ever fetched.
const CACHE = "silhouette-v3";
const FILES = ["./", "index.html", "app.js", "style.css", "package/pkg/silhouette.js", "package/pkg/worker.js",
  "package/pkg/silhouette_web_bg.wasm"];

self.addEventListener("install", (event) => event.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES))));
self.addEventListener("activate", (event) => event.waitUntil(
  caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))));
self.addEventListener("fetch", (event) => {
  if (new URL(event.request.url).origin !== location.origin) return;
  event.respondWith(caches.match(event.request).then((hit) => hit ?? fetch(event.request)));
});
