# syntax=docker/dockerfile:1
# One build, three runnable targets: worker, simulator, api (default).
#   docker build --target worker -t analytics-worker .
# docker-compose.yml builds each target. Configuration comes from env vars:
#   ConnectionStrings__Marten (Npgsql connection string), RabbitMq__Uri (amqp URI).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/ src/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/Analytics.Worker/Analytics.Worker.csproj -c Release -o /app/worker /p:UseAppHost=false \
 && dotnet publish src/Analytics.Api/Analytics.Api.csproj -c Release -o /app/api /p:UseAppHost=false \
 && dotnet publish src/Analytics.Simulator/Analytics.Simulator.csproj -c Release -o /app/simulator /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
ENV DOTNET_NOLOGO=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
COPY --from=build /app /app
# Non-root user shipped with the .NET images.
USER $APP_UID

FROM runtime AS worker
WORKDIR /app/worker
ENTRYPOINT ["dotnet", "Analytics.Worker.dll"]

FROM runtime AS simulator
WORKDIR /app/simulator
ENTRYPOINT ["dotnet", "Analytics.Simulator.dll"]

FROM runtime AS api
WORKDIR /app/api
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
ENTRYPOINT ["dotnet", "Analytics.Api.dll"]
