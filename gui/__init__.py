"""Qt widgets of Latent Face Studio. Only rendering and input here; computing is engine/'s job."""
