//! recpim-search
