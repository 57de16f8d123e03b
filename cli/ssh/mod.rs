//! The SSH engine: the only module that talks to the network.
