"""Managed holdings: hand an existing spot holding to the bot through an approval flow, never automatically.

Every asset starts ``frozen`` (the bot never touches it). The operator asks for an analysis, the bot
proposes a risk plan from the market snapshot, the operator approves one variant, and only then is
the holding managed. Pure decisions (``lifecycle``, ``risk_model``, ``drift``, ``plans``,
``reconcile_rules``) take every input as an argument; ``service`` carries them out on the ``Store``
with compare-and-set, so two processes deciding about one asset can never both win. See
``docs/holdings.md``.
"""
