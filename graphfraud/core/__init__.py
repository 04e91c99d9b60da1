"""What every stage uses: errors users see, every text in Chinese and English, the asset
folders, and the neutralising of untrusted text in outputs. Imports nothing of the others."""
