pub mod checkpoint; pub mod data { pub mod augment; pub mod folder; pub mod loader; } pub mod infobatch; pub mod method; pub mod optim; pub mod schedule; pub mod weights;
