//! pix-manager
