// A simple polygon drawing of our own: each click adds a vertex; Enter (or « Terminer ») closes
// the ring, Backspace removes the last vertex, Escape cancels.
export class PolygonDrawing {
  constructor(map, onDone, onChange) {
    this.map = map;
    this.onDone = onDone;
    this.onChange = onChange;
    this.vertices = [];
    this.active = false;
    this.keys = (e) => this.key(e);
  }

  start() {
    this.vertices = [];
    this.active = true;
    this.map.getCanvas().style.cursor = "crosshair";
    this.map.doubleClickZoom.disable();
    document.addEventListener("keydown", this.keys);
    this.draw();
  }

  stop() {
    this.active = false;
    this.map.getCanvas().style.cursor = "";
    this.map.doubleClickZoom.enable();
    document.removeEventListener("keydown", this.keys);
    this.vertices = [];
    this.draw();
  }

  add(lngLat) {
    this.vertices.push([Number(lngLat.lng.toFixed(6)), Number(lngLat.lat.toFixed(6))]);
    this.draw();
  }

  finish() {
    if (this.vertices.length < 3) return false;
    const ring = [...this.vertices, this.vertices[0]];
    this.stop();
    this.onDone({ type: "Polygon", coordinates: [ring] });
    return true;
  }

  key(e) {
    if (!this.active) return;
    if (e.key === "Enter") { e.preventDefault(); this.finish(); }
    else if (e.key === "Escape") { e.preventDefault(); this.stop(); this.onChange(); }
    else if (e.key === "Backspace" && e.target === document.body) {
      e.preventDefault(); this.vertices.pop(); this.draw();
    }
  }

  geojson() {
    const features = this.vertices.map((v) => ({
      type: "Feature", properties: {}, geometry: { type: "Point", coordinates: v },
    }));
    if (this.vertices.length >= 2) {
      features.push({
        type: "Feature", properties: {},
        geometry: { type: "LineString", coordinates: [...this.vertices, this.vertices[0]] },
      });
    }
    return { type: "FeatureCollection", features };
  }

  draw() {
    const source = this.map.getSource("dessin");
    if (source) source.setData(this.geojson());
    this.onChange();
  }
}
