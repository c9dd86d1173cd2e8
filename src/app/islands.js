// Starts the page's islands once the browser is idle, off the page's critical path: fetches the
// WASM while it imports the JS, starts the bundle (`hydrate`), then hands each island (a
// `leptos-island` element), in document order, to the function the bundle exports under its
// `data-component` name. This text is the body of an inline script: it must never contain that
// element's closing tag.
(js, wasm) => {
  const start = async () => {
    const module = fetch(wasm);
    const bundle = await import(js);
    await bundle.default({ module_or_path: module });
    bundle.hydrate();
    for (const island of document.querySelectorAll("leptos-island")) {
      const name = island.dataset.component;
      const hydrate = bundle[name];
      if (hydrate) {
        await hydrate(island);
      } else {
        console.warn(`This page's bundle has no island ${name}.`);
      }
    }
  };
  if ("requestIdleCallback" in window) {
    window.requestIdleCallback(start);
  } else {
    start();
  }
}
