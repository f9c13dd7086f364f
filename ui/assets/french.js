// Îlots: the page is in French. Streamlit's own page template declares English, and a few of its built-in
// labels cannot be set from Python (file uploader, some aria-labels); this script declares French and translates
// those labels as they appear. Idempotent: it runs once per browser tab, however often the page reruns.
(function () {
  const doc = window.document;
  doc.documentElement.lang = "fr";
  if (window.__ilotsFrench) return;
  window.__ilotsFrench = true;
  const TEXT = {
    "Drag and drop file here": "Glissez-déposez un fichier ici",
    "Drag and drop files here": "Glissez-déposez des fichiers ici",
    "Browse files": "Parcourir",
    "Choose an option": "Choisissez",
    "Choose options": "Choisissez",
    "No results": "Aucun résultat",
    "Clear all": "Tout effacer",
    "Skip to main content": "Aller au contenu principal",
    "Main menu": "Menu principal",
    "Show password text": "Afficher le mot de passe",
    "Hide password text": "Masquer le mot de passe",
    "Press Enter to apply": "Appuyez sur Entrée pour valider",
    "Download as CSV": "Télécharger en CSV",
    "Search": "Rechercher",
    "Fullscreen": "Plein écran",
    "Close fullscreen": "Quitter le plein écran",
    "View fullscreen": "Plein écran",
    "Running...": "Calcul en cours…",
    "Stop": "Arrêter",
    "Collapse sidebar": "Replier le menu",
    "Expand sidebar": "Déplier le menu",
    "Open": "Ouvrir la liste",
    "Clear": "Effacer",
    "Remove": "Retirer",
  };
  const PATTERNS = [
    [/^Limit (\d+)\s?MB per file(.*)$/, (m, n, rest) => `Limite : ${n} Mo par fichier${rest}`],
    [/^(\d+(?:\.\d+)?)\s?MB$/, (m, n) => `${n.replace(".", ",")} Mo`],
  ];
  const ATTRS = ["aria-label", "title", "placeholder"];

  function translate(s) {
    const t = s.trim();
    if (TEXT[t]) return s.replace(t, TEXT[t]);
    for (const [re, f] of PATTERNS) {
      if (re.test(t)) return s.replace(t, t.replace(re, f));
    }
    return null;
  }

  function fix(root) {
    const walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const out = translate(n.nodeValue);
      if (out !== null && out !== n.nodeValue) n.nodeValue = out;
    }
    // Code blocks scroll sideways: keyboard users must be able to reach them (WCAG 2.1.1).
    for (const pre of root.querySelectorAll ? root.querySelectorAll("pre:not([tabindex])") : []) {
      pre.setAttribute("tabindex", "0");
    }
    const els = root.querySelectorAll ? root.querySelectorAll("[aria-label],[title],[placeholder]") : [];
    for (const el of els) {
      for (const a of ATTRS) {
        const v = el.getAttribute(a);
        if (!v) continue;
        const out = translate(v);
        if (out !== null && out !== v) el.setAttribute(a, out);
      }
    }
  }

  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(() => {
      pending = false;
      doc.documentElement.lang = "fr";
      fix(doc.body);
    });
  }).observe(doc.body, {subtree: true, childList: true, characterData: true, attributes: true,
                        attributeFilter: ATTRS});
  fix(doc.body);
})();
