"""Clinical records: progress notes, session records, goals and their measures,
assessments and their templates, patient documents, progress reports for guardians.

A domain above messaging (reports go out through the outbox) and beside billing; people,
clinics and staff are below it, and privacy (export, erasure) above.
"""
