// A φDNN behind an ASP.NET Core minimal API: dotnet run -c Release --project samples/RobustService -- --urls http://127.0.0.1:5000
// Options (command line, appsettings or Pdnn__* environment variables): --model, --defence, --models, --engine pool|batch, ...
// see ServiceOptions.cs.
RobustService.ServiceApp.Create(args).Run();
