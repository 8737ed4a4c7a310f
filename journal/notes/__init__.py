"""Daily notes: the trader's plan before a session and the review after it.

markdown  their Markdown rendered safely (markdown-it-py, raw HTML off; nh3 keeps the
          tags and attributes allowed)
services  writing a note (journal.models.DailyNote)
recap     the weekly recap: P&L, win rate, R, best and worst trades, rule breaks, notes
"""
