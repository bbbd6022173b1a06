"""Journeys: what the assistant does for one shopper's turn, as plain functions.

A journey takes typed inputs (:mod:`knowledge.journeys.inputs`: the :class:`Shopper`, the
:class:`Turn`, the :class:`Shop` with its store, search indexes and policy) and returns
one :class:`knowledge.journeys.reply.Reply`. The Rasa actions in ``actions/`` are only
adapters around these functions.

Where each journey lives:

* ``orders.py``: track, the order list, invoice, cancel, address change (order cards);
* ``identity.py``: order number + email, the lockout across conversations, the prompts,
  the site's signed customer token;
* ``returns.py``: start a return, refund status;
* ``faq.py``: policy questions, payment help;
* ``handoff.py``: a person, complaints, tickets (agent presence);
* ``feedback.py``: thumbs and the 1-5 rating;
* ``products.py``: search with filters, "show more", product questions, recommendations;
* ``conversation.py``: what a new session keeps, stopping a form, the fallback prompts;
* ``addresses.py``: reading a delivery address (country names, whole-address lines);
* ``common.py``: the ownership check, order buttons, the person button;
* ``text.py``: cleaning shopper text, order numbers, emails;
* ``reply.py``: the Reply type and its codec to Rasa messages and back.

Imports: journeys may import ``knowledge.*`` and ``models.generator.tasks`` (formatting
only). They must not import ``rasa``, ``rasa_sdk``, ``actions``, ``web``, ``aiohttp`` or
the generator client: phrasing happens in the adapter (``actions/adapter.py``).
"""
