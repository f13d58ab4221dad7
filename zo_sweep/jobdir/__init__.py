"""A job's directory as the sweep and the summary read it: the job config's schema, who runs
the job, how far it has come. The sweep writes job directories and the summary reads them;
both read them through this package, so neither imports the other."""
