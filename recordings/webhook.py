from rest_framework.views import APIView


class NotificationWebhook(APIView):
    pass
