"""On-call arithmetic: rotations and overrides turned into shifts (`rotation`, pure), who is on
call in a schedule (`schedule`, its database side), and the people an escalation layer that
pages "whoever is on call in schedule S" reaches (`targets`).

A low floor of its own: cards, dispatch and schedules read it; it reads only the models.
"""
