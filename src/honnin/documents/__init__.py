"""Identity documents: MRZ, chip access keys, chip passive authentication, card OCR.

Pure modules (``mrz``, ``access_keys``, ``tlv``, ``lds``, ``signatures``, ``trust``,
``chip``, ``card_fields``, ``wareki``) do no I/O; ``service`` reads files and runs the OCR
engine; ``cli`` is ``honnin doc``.
"""
