"""Broker statements brought in through the admin: read, checked in a dry run, imported.

reading   what every reader shares: the file's text, decimals, local times, a row
ibkr      Interactive Brokers Flex Query trades (XML and CSV): executions paired into trades
mt5       MetaTrader 5's trade history report (HTML): its Positions sections
formats   which format a file is in, and the reader of each
guesses   what an unknown symbol's instrument would be, from what the statement says
jobs      the upload, the dry run and the import as a job (a Celery worker, or the web
          process when no worker answers), the quarantine of what cannot be read
"""
