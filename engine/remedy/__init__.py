"""生态修复, the end of the chain: from confirmed warnings to what the county asks townships to fix.

`common.py` finds the common problems (面上共性问题) of a period: the models whose warnings
were confirmed in many townships, or again and again in one. `drafts.py` writes the
recommendation drafts (《纪检监察建议书》, one per township) and the county's 通报 from them.
"""
