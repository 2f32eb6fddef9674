// The summary a backend's run prints: one table of figures, then every finding in full.
import type { Figure, Finding } from './common.ts'

export function verdict(figure: Figure): string {
  return figure.ok === null ? (figure.value === 'skipped' ? 'SKIP' : 'info') : figure.ok ? 'OK' : 'FAIL'
}

/** A Markdown table, so that it can be pasted into docs/security.md as printed. */
export function table(title: string, figures: Figure[]): string {
  const cell = (text: string | number) => String(text).replaceAll('|', '\\|').replaceAll('\n', ' ')
  const lines = [`### ${title}`, '', '| figure | value | expected | result |', '|---|---:|---|---|']
  for (const figure of figures) lines.push(`| ${cell(figure.figure)} | ${cell(figure.value)} | ${cell(figure.expected)} | ${verdict(figure)} |`)
  const notes = figures.filter((figure) => figure.note)
  if (notes.length > 0) {
    lines.push('', 'Notes:')
    for (const figure of notes) lines.push(`- ${figure.figure}: ${figure.note}`)
  }
  return lines.join('\n')
}

export function findingsText(findings: Finding[]): string {
  if (findings.length === 0) return 'No findings.'
  const lines = [`Findings (${findings.length}):`]
  for (const [index, finding] of findings.entries()) {
    lines.push(`${index + 1}. [${finding.part}] ${finding.summary}`)
    if (finding.request) lines.push(`   request:  ${finding.request.replaceAll('\r\n', '\\r\\n').replaceAll('\n', '\\n')}`)
    if (finding.response) lines.push(`   response: ${finding.response.replaceAll('\r\n', '\\r\\n').replaceAll('\n', '\n             ')}`)
  }
  return lines.join('\n')
}
