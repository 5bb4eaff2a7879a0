from django.urls import path

app_name = "graph_emulator"
urlpatterns: list = []
