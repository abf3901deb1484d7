"""mediasrv: a self-hosted media browser whose rescans never block browsing."""

__version__ = "0.1.0"
