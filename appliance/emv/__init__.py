"""Card protocol: TLV, the EMV tag dictionary and card traces (knows nothing of sales or readers)."""
