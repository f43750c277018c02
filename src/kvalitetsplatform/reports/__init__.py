"""Reports: interactive chart specs shared with the web, static PDF reports, the report library and subscriptions.

- `charts` — Vega-Lite specs for the web (vega-embed) and the PDFs (vl-convert).
- `practice`, `cluster`, `region` — the three static reports, read through the gate as their audience (`audience`)
  into a document that `templates/*.typ` lay out (`render`: Typst, PDF/A-2a).
- `library` — building, storing and handing out reports (`visible_reports`, `Library.open`); `tables` — its app-DB
  tables; `subscriptions` and `mail` — notices of new reports by e-mail, with a link, never the PDF.

See docs/reports.md.
"""
