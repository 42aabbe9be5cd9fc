// Pictograms of the reportable services (decorative: the service's name is always written).

const PATHS = {
  degradation_bien_public: '<path d="M3 10h18M4 14h16M6 14v5M18 14v5M5 10V7h14v3"/>',
  tag_graffiti: '<rect x="6" y="9" width="8" height="12" rx="1.5"/><path d="M8 9V6h4v3M17 5h.01M19.5 3h.01M19.5 7h.01M21.5 5h.01"/>',
  depot_sauvage: '<path d="M4 7h16M9 7V4h6v3M6 7l1 14h10l1-14M10 11v6M14 11v6"/>',
  nuisance_sonore: '<path d="M4 9v6h4l5 4V5L8 9H4zM16 9a4 4 0 0 1 0 6M19 6a8 8 0 0 1 0 12"/>',
  eclairage_defaillant: '<path d="M9 18h6M10 21h4M12 3a6 6 0 0 0-4 10.5c.8.8 1 1.5 1 2.5h6c0-1 .2-1.7 1-2.5A6 6 0 0 0 12 3z"/>',
  voirie_degradee: '<path d="M8 3L4 21M16 3l4 18M12 4v3M12 10v3"/><ellipse cx="12" cy="18" rx="3" ry="1.5"/>',
};
const OTHER = '<path d="M12 3l9 17H3L12 3zM12 10v4M12 17h.01"/>';

export function icon(code) {
  return (
    '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" ' +
    `stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${PATHS[code] || OTHER}</svg>`
  );
}
