"""Where a trade is written: every way in, and the one module that writes journal_trade.

records      the trade record format and its rules (no Django): the API body, the CSV
             header and the JSON-lines keys
capture      validate and store a batch once, or spool it while the database is down
storage      every statement that writes journal_trade (INSERT, the close, the stage)
spool        the durable file spool (no Django)
replay       the spool into the database; the quarantine of what cannot be stored
imports      CSV and JSON-lines files, exact and all-or-nothing
fast_import  plainly spelled CSV files checked in SQL
exports      CSV (safe in a spreadsheet) and JSON lines
"""
