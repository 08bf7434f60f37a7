import { writeFileSync } from 'node:fs';

export interface Panel {
  title: string;
  bars: Array<{ label: string; value: number; note?: string; color?: string }>;
}

const COLORS = ['#2f6fdf', '#d9822b', '#7a7a7a', '#3a9a5b'];
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A plain SVG bar chart, one panel per query, each with its own scale (a batch of
 * 100 serves far fewer requests per second than a single id: only the bars within
 * a panel are meant to be compared).
 */
export function writeBarChart(path: string, title: string, unit: string, panels: Panel[]): void {
  // Wide enough for each bar's figure and note side by side.
  const panelW = Math.max(360, 40 + 90 * Math.max(...panels.map((p) => p.bars.length)));
  const chartH = 220;
  const top = 60;
  const width = panelW * panels.length + 40;
  const height = top + chartH + 90;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="24" font-size="16" font-weight="bold">${escape(title)}</text>`,
  ];
  panels.forEach((panel, p) => {
    const x0 = 20 + p * panelW;
    const max = Math.max(...panel.bars.map((b) => b.value)) * 1.15 || 1;
    const slot = (panelW - 40) / panel.bars.length;
    const barW = slot * 0.6;
    const base = top + chartH;
    parts.push(`<text x="${x0 + (panelW - 40) / 2}" y="${top - 14}" text-anchor="middle" font-weight="bold">${escape(panel.title)}</text>`);
    parts.push(`<line x1="${x0}" y1="${base}" x2="${x0 + panelW - 40}" y2="${base}" stroke="#333"/>`);
    panel.bars.forEach((bar, i) => {
      const h = (bar.value / max) * chartH;
      const x = x0 + i * slot + (slot - barW) / 2;
      const cx = x + barW / 2;
      parts.push(`<rect x="${x.toFixed(1)}" y="${(base - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${bar.color ?? COLORS[i % COLORS.length]}"/>`);
      parts.push(`<text x="${cx.toFixed(1)}" y="${(base - h - 6).toFixed(1)}" text-anchor="middle">${Math.round(bar.value).toLocaleString('en-US')} ${unit}</text>`);
      parts.push(`<text x="${cx.toFixed(1)}" y="${base + 18}" text-anchor="middle">${escape(bar.label)}</text>`);
      if (bar.note) parts.push(`<text x="${cx.toFixed(1)}" y="${base + 34}" text-anchor="middle" fill="#555">${escape(bar.note)}</text>`);
    });
  });
  parts.push('</svg>');
  writeFileSync(path, parts.join('\n') + '\n');
}
