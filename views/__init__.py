"""Views of the library's answers: explanations (why, why not, the rules, citations), the chain of
firings as text and graphs (how), what-if analyses, the classroom HTML page, and exports (JSON,
Markdown, BibTeX/RIS/CSL-JSON). They depend only on :mod:`msc_ev.advisor` and :mod:`msc_ev.rules`,
never on the terminal front end.
"""
