"""生态修复, the end of the chain: from confirmed warnings to what the county asks townships to fix.

`common.py` finds the common problems (面上共性问题) of a period: the models whose warnings
were confirmed in many townships, or again and again in one. The recommendation drafts
(《纪检监察建议书》) are written from them.
"""
