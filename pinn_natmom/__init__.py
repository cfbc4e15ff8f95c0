"""pinn-natmom: physics-informed neural networks trained by energy natural gradient with natural momentum."""
