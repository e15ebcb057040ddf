"""Language modelling (one to many): a recurrent model of the next token, trained over long
texts with truncated backpropagation through time, used to score text and to generate it."""
