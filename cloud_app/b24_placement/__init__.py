"""The pages Bitrix24 frames: the deal's "Sync to QuickBooks", the QuickBooks tabs and the app page.

The server renders a small shell per verified frame (:mod:`.shell`): which page, which record, the page
session for its API calls and the strings of the frame's language (:mod:`.strings`). ``static/qb.js``
draws the page from the portal API and keeps it live; ``static/qb.css`` makes it look at home in
Bitrix24.
"""
