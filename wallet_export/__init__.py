"""What holders take away: QR codes, baked badges, wallet and LinkedIn exports."""
