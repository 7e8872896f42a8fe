//! Vertical scaling: an instance size ladder with prices, and capacity by the Universal Scalability Law.
