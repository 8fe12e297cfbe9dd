"""Money: invoices, payments, credits, refunds, payment requests, dues, documents."""
