"""Hardware abstraction: device drivers (real and simulated) behind small typed interfaces.

It moves bytes and events and knows nothing of sales, cards or receipts. It imports
nothing of the project but `appliance.native`.
"""
